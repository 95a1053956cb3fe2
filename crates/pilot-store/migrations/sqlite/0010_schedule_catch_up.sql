-- What a schedule does with ticks no node fired on time: 'one' fires the latest
-- once, late; 'none' skips them. NULL (pilots stored before) reads as 'one'.
ALTER TABLE pilots ADD COLUMN schedule_catch_up TEXT;
