"""``python -m lls_topics`` runs the ``lls-topics`` command line."""
import sys

from .cli import main

sys.exit(main())
