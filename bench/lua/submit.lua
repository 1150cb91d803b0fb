-- POST /api/v1/jobs: a `sleep` job due far in the future, so it stays queued while measured.
local body = '{"kind": "sleep", "params": {"seconds": 60, "step": 1}, "not_before": "' ..
   CONFIG.not_before .. '"}'

request = function()
   return wrk.format("POST", CONFIG.path, headers_with({["Content-Type"] = "application/json"}), body)
end

response = function(status, headers, body)
   count(status, 201)
end
