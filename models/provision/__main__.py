"""``python -m models.provision``: fetch the model files a configuration names."""

import sys

from models.provision.provision import main

sys.exit(main())
