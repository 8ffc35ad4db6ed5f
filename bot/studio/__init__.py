"""The studio: the operator console's pure core for the Rasa project's own data and models.

Data files: ``files`` confines paths and writes safely; ``checks`` validates text
before a save; ``nlu`` and ``responses`` make small edits that keep every other
byte of a file. Models: ``evaluation``, ``progress`` and ``registry``. Nothing here
imports the web framework or the Rasa runtime.
"""
