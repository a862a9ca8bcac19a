"""Landing-folder ingestion: file ledger, readers, row rules and quarantine."""
