-- The same request on every call:
--   wrk ... -s request.lua URL -- METHOD BODY_FILE [HEADER ...]
-- BODY_FILE is "-" for no body (read as bytes, so multipart CRLFs survive); each HEADER is
-- "Name: value". The path is the URL's.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "count.lua")

local prepared

function init(args)
  local headers = {}
  for i = 3, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  local body = nil
  if args[2] ~= "-" then
    local file = assert(io.open(args[2], "rb"))
    body = file:read("*a")
    file:close()
  end
  prepared = wrk.format(args[1], nil, headers, body)
end

function request()
  return prepared
end
