-- wrk script for bench.py's ingest phase: every request is a fresh Web Vitals beacon, as a
-- desktop Chrome on a visitor's page would send it, with ids no other request uses.
--
--   INGEST_RUN=b123 INGEST_VALUES=10 INGEST_ACKED=/tmp/acked.txt \
--     wrk -s bench/ingest.lua -c64 -d15s http://127.0.0.1:3200/api/vitals
--
-- A beacon's view id is <run>-<thread>-<n, 8 digits>; its metric ids are <view id>-<k>. The view id is
-- also sent as X-Request-Id, which folio echoes, so each thread knows exactly which beacons
-- were answered 204; at the end those view ids are written to INGEST_ACKED, one a line, for
-- bench.py to look up in the database.

local run = os.getenv("INGEST_RUN") or "bench"
local per_beacon = tonumber(os.getenv("INGEST_VALUES") or "10")
local names = { "LCP", "INP", "CLS", "FCP", "TTFB" }
local user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

local sent = 0
acked = {}
refused = 0

function request()
  sent = sent + 1
  local view = string.format("%s-%d-%08d", run, thread_number, sent)
  local metrics = {}
  for k = 1, per_beacon do
    local name = names[(k - 1) % #names + 1]
    -- Values spread over the ratings and many histogram bins.
    local value = (sent * 37 + k * 101) % 6000
    if name == "CLS" then value = ((sent + k) % 40) / 100 end
    metrics[k] = string.format(
      '{"name":"%s","id":"%s-%d","value":%s,"delta":%s,"rating":"good"}',
      name, view, k, value, value)
  end
  local body = string.format(
    '{"page":"/projects/bench-demo-%d?from=bench","view":"%s","nav":"navigate","ect":"4g","ref":"https://news.example/item","metrics":[%s]}',
    sent % 12 + 1, view, table.concat(metrics, ","))
  local headers = {
    ["Content-Type"] = "application/json",
    ["Sec-Fetch-Site"] = "same-origin",
    ["User-Agent"] = user_agent,
    ["X-Request-Id"] = view,
  }
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status == 204 then
    acked[#acked + 1] = headers["x-request-id"] or headers["X-Request-Id"]
  else
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local file = assert(io.open(os.getenv("INGEST_ACKED") or "/dev/null", "w"))
  local total, other = 0, 0
  for _, thread in ipairs(threads) do
    local ids = thread:get("acked")
    for _, id in ipairs(ids) do
      file:write(id, "\n")
    end
    total = total + #ids
    other = other + thread:get("refused")
  end
  file:close()
  io.write(string.format("ingest: %d beacons acknowledged, %d refused\n", total, other))
end
