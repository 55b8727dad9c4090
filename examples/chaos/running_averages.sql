-- An OVER pipeline for `sluice chaos`: every row with the average and count of the last four
-- rows of its key in event-time order, appended to a file sink once the watermark passes it.
CREATE SOURCE events (id BIGINT, k STRING, v BIGINT, ts TIMESTAMP,
                      WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH (connector = 'file', format = 'csv', path = '${input}', "maxFilesPerTrigger" = '2');

CREATE SINK averages WITH (connector = 'file', format = 'json', path = '${output}', output_mode = 'append') AS
  SELECT id, k, ts,
         avg(v) OVER (PARTITION BY k ORDER BY ts, id ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS average,
         count(*) OVER (PARTITION BY k ORDER BY ts, id ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS n
  FROM events;
