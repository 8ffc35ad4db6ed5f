"""Custom Rasa NLU components: bilingual tokenization and language detection."""
