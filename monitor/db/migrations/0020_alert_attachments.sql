-- v20: an alert can carry files (the weekly report's PDF is attached to the e-mail, its paths named in the webhook)
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS attachments VARCHAR[];
