-- What a webhook run's request was besides its body (method, query, content type,
-- headers without credentials), JSON; NULL for runs not fired by a webhook.
ALTER TABLE runs ADD COLUMN request TEXT;
