-- GET a path; "{id}" becomes a random job id in 1..CONFIG.jobs, "{user}" a random user.
init = function(args)
   math.randomseed(os.time() * 1000 + (thread_index or 1))
end

request = function()
   local path = CONFIG.path
   path = path:gsub("{id}", function() return tostring(math.random(1, CONFIG.jobs)) end)
   path = path:gsub("{user}", function() return CONFIG.users[math.random(1, #CONFIG.users)] end)
   return wrk.format("GET", path)
end

response = function(status, headers, body)
   count(status, 200)
end
