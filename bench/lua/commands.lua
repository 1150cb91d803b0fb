-- Stop/resume pairs on jobs that are stopped when the run begins and due far in the future
-- (so a resumed job stays queued and no worker takes it). Each wrk thread owns its own slice
-- of CONFIG.ids and walks it round after round: resume every job, then stop every job, ...
-- A job's next command comes a whole slice (hundreds of requests) after its previous one,
-- so every request is a real command (200, JobKeeper-Changed: true); a 409 or an unchanged
-- answer would mean the previous command had not landed yet, and is counted apart.
local ids = {}
local k = 0
unchanged = 0

init = function(args)
   local index, total = thread_index or 1, CONFIG.threads
   for i, id in ipairs(CONFIG.ids) do
      if (i - 1) % total == index - 1 then
         table.insert(ids, id)
      end
   end
end

request = function()
   local id = ids[(k % #ids) + 1]
   local round = math.floor(k / #ids)
   k = k + 1
   local command = (round % 2 == 0) and "resume" or "stop"
   return wrk.format("POST", CONFIG.prefix .. id .. "/" .. command, headers_with({}))
end

response = function(status, headers, body)
   count(status, 200)
   local changed = headers["JobKeeper-Changed"] or headers["jobkeeper-changed"]
   if status == 200 and changed == "false" then
      unchanged = unchanged + 1
   end
end
