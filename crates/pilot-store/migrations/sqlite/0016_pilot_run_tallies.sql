-- A pilot's run count and last run, tallied off the pilot's row: counting on the row
-- made every run of a pilot wait for the previous one's commit (a hot row). Each run
-- adds to one of 16 slots (its id modulo 16); a read adds the slots to the count
-- kept on the pilot before this table existed (`pilot_rows::pilot_columns`). SQLite,
-- whose one writer commits runs in groups, has no hot row and goes on counting on the
-- pilot; its table stays empty.
CREATE TABLE pilot_run_tallies (
    pilot_id    BIGINT NOT NULL REFERENCES pilots (id) ON DELETE CASCADE,
    slot        INT    NOT NULL,
    runs        BIGINT NOT NULL,
    last_run_at BIGINT NOT NULL,
    PRIMARY KEY (pilot_id, slot)
);
