-- wrk script: every request registers a new login with its own telegram id,
-- so the account limit never interferes and every 200 is a real account.
-- run.sh starts gamegate with this API key and the rate limits off.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  run = args[1] or "r"
  counter = 0
  statuses = {}
end

request = function()
  counter = counter + 1
  local login = string.format("%s%d_%d", run, tid, counter)
  local body = string.format(
    '{"login":"%s","password":"secret12","gender":0,"telegram_id":%d}',
    login, 1000000000 + tid * 100000000 + counter)
  return wrk.format("POST", "/api/register", {["Content-Type"] = "application/json", ["X-API-Key"] = "bench-api-key-0123456789"}, body)
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do total[code] = (total[code] or 0) + n end
  end
  for code, n in pairs(total) do io.write(string.format("status %d: %d\n", code, n)) end
end
