# Every process that runs the tests (runtests.py, its parallel workers, pytest) imports this
# package first: the network guard keeps them on loopback (tests/netguard.py).
from tests.netguard import install

install()
