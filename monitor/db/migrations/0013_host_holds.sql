-- v13: hosts that asked to be left alone (a 429/503 Retry-After holds the whole host across runs)
CREATE TABLE IF NOT EXISTS host_holds (
    host VARCHAR PRIMARY KEY, held_until TIMESTAMPTZ, reason VARCHAR, set_at TIMESTAMPTZ);
