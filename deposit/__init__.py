"""The dossier as data: manifest, age envelope, signature, durable outbox, resumable uploader."""
