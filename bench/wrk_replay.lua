-- wrk script: replays the pre-signed deliveries of make_requests.py, each once, in order.
-- wrk -t1 -c64 -d15s --latency -s bench/wrk_replay.lua http://127.0.0.1:PORT -- FILE [PATH]
-- After the last line it starts over (the server then answers "duplicate"); the bench makes the
-- file longer than a run needs and reports a run that sent more requests than the file has.
local reqs = {}
local idx = 0

function init(args)
  local file = args[1] or "bench/out/requests.tsv"
  local path = args[2] or "/hooks/shop"
  local f = assert(io.open(file, "r"), "cannot open " .. file)
  for line in f:lines() do
    local ev, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    if ev then
      reqs[#reqs + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/json",
        ["X-Shopify-Topic"] = "products/create",
        ["X-Shopify-Event-Id"] = ev,
        ["X-Shopify-Hmac-Sha256"] = sig,
      }, body)
    end
  end
  f:close()
end

function request()
  idx = idx + 1
  if idx > #reqs then
    idx = 1
  end
  return reqs[idx]
end

function done(summary, latency, requests)
  io.write(string.format("replay: %d requests prepared\n", #reqs))
end
