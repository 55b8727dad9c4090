-- A stateless pipeline for `sluice chaos`: filters and projects every row into a file sink.
CREATE SOURCE events (id BIGINT, k STRING, v BIGINT, ts TIMESTAMP)
  WITH (connector = 'file', format = 'csv', path = '${input}', "maxFilesPerTrigger" = '2');

CREATE SINK copy WITH (connector = 'file', format = 'json', path = '${output}') AS
  SELECT id, upper(k) AS k, v * 2 AS v2, ts FROM events WHERE v % 3 <> 0;
