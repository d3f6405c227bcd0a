-- wrk script for scripts/bench: authenticates every request, optionally paces
-- them, and ends with one machine-readable line for lib.sh.
--   BENCH_TOKEN  access token (Authorization: Bearer ...)
--   BENCH_RATE   total requests/s to aim for; 0 or unset = as fast as possible
-- lib.sh runs wrk with one thread, so this script's state sees every request.

wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN not set")

local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0

-- wrk cannot rate-limit on its own (wrk2 can, but is not in Debian). wrk
-- calls delay() before each request when the script defines it, and starts
-- its latency clock only after the delay, so pacing here does not count as
-- latency. Requests are given evenly spaced send slots; a slot missed
-- because every connection was busy is dropped, not made up in a burst, so
-- the achieved rate can fall short of the target (lib.sh reports it).
if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clk_id, bench_timespec *tp);
  ]]
  local ts = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 / rate
  local next_slot = nil

  function delay()
    local now = now_ms()
    if next_slot == nil or next_slot < now then next_slot = now end
    local wait = next_slot - now
    next_slot = next_slot + interval
    return wait -- ms; wrk truncates to whole ms, the running schedule keeps the average
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
