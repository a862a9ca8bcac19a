"""The platform's stages, one folder each: meters → vee → consumption → deviation → settlement →
bills → alerts → workflows. Python stages hold their assets; dbt stages point to their models."""
