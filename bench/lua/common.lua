-- Shared by every scenario (bench/harness.py prepends CONFIG): the bearer token on every
-- request, per-thread status counters, and a one-line JSON summary printed by done().
wrk.headers["Authorization"] = "Bearer " .. CONFIG.token
wrk.headers["Accept"] = "application/json"

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_index", thread_count)
   table.insert(threads, thread)
end

-- wrk.format() uses its `headers` argument instead of wrk.headers, not on top of them.
function headers_with(extra)
   local merged = {}
   for name, value in pairs(wrk.headers) do merged[name] = value end
   for name, value in pairs(extra) do merged[name] = value end
   return merged
end

statuses = {}
unexpected = 0
status_text = ""

-- A scenario calls this from its own response() (or it is used as is).
function count(status, expected)
   statuses[status] = (statuses[status] or 0) + 1
   if status ~= expected then
      unexpected = unexpected + 1
   end
   -- thread:get() copies plain values only: keep a flat text of the counts.
   local parts = {}
   for code, n in pairs(statuses) do
      table.insert(parts, string.format("%d:%d", code, n))
   end
   status_text = table.concat(parts, ",")
end

function done(summary, latency, requests)
   local merged = {}
   local extra = {}
   for _, thread in ipairs(threads) do
      local text = thread:get("status_text") or ""
      for code, n in string.gmatch(text, "(%d+):(%d+)") do
         merged[code] = (merged[code] or 0) + tonumber(n)
      end
      extra.unexpected = (extra.unexpected or 0) + (thread:get("unexpected") or 0)
      extra.unchanged = (extra.unchanged or 0) + (thread:get("unchanged") or 0)
   end
   local function object(t)
      local parts = {}
      for k, v in pairs(t) do
         table.insert(parts, string.format('"%s": %d', k, v))
      end
      return "{" .. table.concat(parts, ", ") .. "}"
   end
   local errors = {connect = summary.errors.connect, read = summary.errors.read,
      write = summary.errors.write, timeout = summary.errors.timeout}
   io.write(string.format(
      'BENCH-JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
      '"statuses": %s, "errors": %s, "extra": %s}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      object(merged), object(errors), object(extra)))
end
