# Puts the repository root on sys.path so the tests run from a checkout too.
