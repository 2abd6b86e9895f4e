-- A GET of a random stored record on every call:
--   wrk ... -s random_id.lua URL -- PATH_FORMAT COUNT [HEADER ...]
-- PATH_FORMAT has one integer slot, e.g. /maxcare/v3/emails/eml_%032x; the integers are
-- 0 .. COUNT-1, the ids the seeded scenario holds. Each HEADER is "Name: value".

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "count.lua")

local path_format, count
local headers = {}

function init(args)
  path_format, count = args[1], tonumber(args[2])
  for i = 3, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  math.randomseed(os.time() + (thread_number or 0) * 7919)
end

function request()
  return wrk.format("GET", string.format(path_format, math.random(0, count - 1)), headers)
end
