-- A stateless pipeline for `sluice chaos` reading Kafka: the runner's own cluster ('${kafka}')
-- holds topic 'events' with CSV lines `id,k,v,ts` as values; rows go into a file sink.
CREATE SOURCE raw WITH (connector = 'kafka', "kafka.bootstrap.servers" = '${kafka}',
                        subscribe = 'events', "startingOffsets" = 'earliest',
                        "maxOffsetsPerTrigger" = '30');
CREATE VIEW events AS
  SELECT from_csv(value, 'id BIGINT, k STRING, v BIGINT, ts TIMESTAMP') AS r FROM raw;

CREATE SINK copy WITH (connector = 'file', format = 'json', path = '${output}') AS
  SELECT r.id AS id, upper(r.k) AS k, r.v * 2 AS v2, r.ts AS ts FROM events WHERE r.v % 3 <> 0;
