-- A webhook pilot's sender verification: JSON {scheme, header, encoding,
-- toleranceSecs, secretSealed}, the secret sealed under the master key; NULL: none.
ALTER TABLE pilots ADD COLUMN webhook_verification TEXT;
