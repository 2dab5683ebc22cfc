-- v26: which channels already have an alert (a webhook that succeeded is not posted again while the e-mail is retried)
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS delivered_to VARCHAR[];
