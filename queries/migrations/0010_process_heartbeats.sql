-- Long-running processes (relay, worker, simulator) on any machine record a heartbeat every
-- few seconds: one row per beat, so the Operations page can show each process's age and
-- throughput and an hour of errors, retries and change-stream lag. A process instance is one
-- series, (process, host, pid, started_at): a restart starts a new series whose cumulative
-- counters begin again at zero. beat_at is the database's clock, so ages compare across
-- machines whose clocks disagree. Writers delete rows older than two hours (queries/heartbeats.py).
-- Not part of the change stream: the publication names its five domain tables only.
CREATE TABLE IF NOT EXISTS process_beats (
    process TEXT NOT NULL CHECK (btrim(process) <> ''),
    host TEXT NOT NULL,
    pid INT8 NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    beat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    interval_seconds FLOAT8 NOT NULL CHECK (interval_seconds > 0),
    counters JSONB NOT NULL DEFAULT '{}',
    PRIMARY KEY (process, host, pid, started_at, beat_at)
);

CREATE INDEX IF NOT EXISTS process_beats_by_time ON process_beats (beat_at);
