-- wrk script of bench/active_reads.py: signed GETs of /active, each with a fresh routing key.
-- Arguments: the path, a file of pre-signed header sets, one a line "id<TAB>timestamp<TAB>signature"
-- (a GET signs its method and path, not the key), and a rate in reads/s per thread (0: as fast
-- as the connections go). Requests cycle through the header sets; at a rate, a request waits for
-- its slot (slots are never made up: the rate is at most the one asked). The arms answered and the
-- refusals are counted per thread and printed by done() as one JSON line.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local path, signed, next_signed, sequence = nil, {}, 0, 0
local interval_ms, next_slot = nil, nil
canary, control, refused = 0, 0, 0 -- globals: done() reads them with thread:get
local threads = {}

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  for line in io.lines(args[2]) do
    local webhook_id, timestamp, signature = line:match("([^\t]+)\t([^\t]+)\t(.+)")
    table.insert(signed, {
      ["webhook-id"] = webhook_id,
      ["webhook-timestamp"] = timestamp,
      ["webhook-signature"] = signature,
    })
  end
  local rate = tonumber(args[3] or "0")
  if rate > 0 then
    interval_ms = 1000 / rate
  end
  math.randomseed(os.time() * 1000 + id)
end

function delay()
  if interval_ms == nil then
    return 0
  end
  local now = now_ms()
  local slot = math.max(next_slot or now, now)
  next_slot = slot + interval_ms
  return slot - now
end

function request()
  next_signed = next_signed % #signed + 1
  sequence = sequence + 1
  local key = string.format("%d-%d-%08x", id, sequence, math.random(0, 0x7fffffff))
  return wrk.format("GET", path .. "?key=" .. key, signed[next_signed])
end

function response(status, headers, body)
  if status ~= 200 then
    refused = refused + 1
  elseif body:find('"arm":"canary"', 1, true) then
    canary = canary + 1
  else
    control = control + 1
  end
end

function done(summary, latency, requests)
  local arms = { canary = 0, control = 0, refused = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(arms) do
      arms[name] = arms[name] + thread:get(name)
    end
  end
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"canary": %d, "control": %d, "refused": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    latency.max, arms.canary, arms.control, arms.refused,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
