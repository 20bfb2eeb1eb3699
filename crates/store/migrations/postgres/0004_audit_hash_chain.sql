-- Tamper evidence for the audit log: every event carries the hash of the one before it and its own hash
-- over its content and that link (see src/chain.rs). Verification walks the rows in `seq` order.
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
