-- A stateful pipeline for `sluice chaos`: counts and sums per key in 5-second event-time
-- windows, appended to a file sink once the watermark closes each window.
CREATE SOURCE events (id BIGINT, k STRING, v BIGINT, ts TIMESTAMP,
                      WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH (connector = 'file', format = 'csv', path = '${input}', "maxFilesPerTrigger" = '2');

CREATE SINK windows WITH (connector = 'file', format = 'json', path = '${output}', output_mode = 'append') AS
  SELECT window_start, k, count(*) AS n, sum(v) AS total
  FROM TUMBLE(events, DESCRIPTOR(ts), INTERVAL '5' SECOND)
  GROUP BY window_start, window_end, k;
