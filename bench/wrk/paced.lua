-- request.lua at a fixed pace: each connection waits INTERVAL_MS before each request.
--   wrk ... -s paced.lua URL -- INTERVAL_MS METHOD BODY_FILE [HEADER ...]
-- With C connections the rate is about C * 1000 / (INTERVAL_MS + latency) requests a second:
-- fixed while the server is far from its limit. wrk times a request from when it is written,
-- so the wait is not in the latency.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "request.lua")

local prepare = init
local interval

function init(args)
  interval = tonumber(args[1])
  local rest = { [0] = args[0] }
  for i = 2, #args do
    rest[i - 1] = args[i]
  end
  prepare(rest)
end

function delay()
  return interval
end
