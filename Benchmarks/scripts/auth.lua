-- wrk script: POST with a bearer token and a CORS origin, the RESULT line of report.lua at the end.
--   WRK_TOKEN (required: the JWT, e.g. from middleware-bench/mint.py), WRK_METHOD (default POST),
--   WRK_BODY_SIZE (bytes of body, default 0), WRK_ORIGIN (default https://app.example.com)
-- report.lua sits beside this script: it sets the method and body and defines done().
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local token = os.getenv("WRK_TOKEN")
if not token or token == "" then
  io.stderr:write("auth.lua: set WRK_TOKEN to the JWT to send\n")
  os.exit(2)
end
wrk.method = os.getenv("WRK_METHOD") or "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Origin"] = os.getenv("WRK_ORIGIN") or "https://app.example.com"
