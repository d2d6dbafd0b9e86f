"""An infinite loop at import time."""
{HONEST}

while True:
    pass
