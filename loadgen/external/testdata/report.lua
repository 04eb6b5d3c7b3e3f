wrk.method = "POST"
wrk.body   = "hello"
wrk.headers["Content-Type"] = "text/plain"
request = function() return wrk.format(nil, "/missing") end
done = function(summary, latency, requests)
  io.write(string.format("custom: %d requests, p99 %d us\n", summary.requests, latency:percentile(99)))
end
