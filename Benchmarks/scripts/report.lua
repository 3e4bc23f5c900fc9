-- wrk script: the request from the environment, one RESULT line of JSON at the end.
--   WRK_METHOD (default GET), WRK_BODY_SIZE (bytes of body, default 0)
local method = os.getenv("WRK_METHOD") or "GET"
local size = tonumber(os.getenv("WRK_BODY_SIZE") or "0")
wrk.method = method
if size > 0 then
  wrk.body = string.rep("x", size)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "rps": %.1f, "p50_us": %d, "p99_us": %d, "non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.requests / summary.duration * 1e6,
    latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
