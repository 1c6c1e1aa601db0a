#!/usr/bin/env python3
"""Writes a synthetic AS relationship file in CAIDA's serial-1 format
(<provider>|<customer>|-1, <peer>|<peer>|0) with statistics like CAIDA's
published graphs, for `make bench` (import time, policy routing memory).
Nothing is downloaded: the graph is drawn from a seeded generator.

Shape (roughly CAIDA's 2020s serial-1 files): a clique of 16 tier-1 ASes
peering with each other; about 7 % transit ASes, each buying transit from
1-3 providers among the tier-1s and earlier transit ASes chosen by
preferential attachment on their customer count (so customer cones are
heavy-tailed); the rest stubs with 1-3 providers among the transit ASes
(about 40 % multihomed); and peering among transit ASes, preferential on
size, about 2.5 peer links per provider-customer link as IXP route servers
make them. AS numbers are drawn from 1..400000 without repeats, like real
numbers, sparse.

Usage: gen_asrel.py [ASES] [SEED] > file.as-rel.txt   (default 75000 1)
"""
import random
import sys


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 75000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    numbers = rng.sample(range(1, 400001), n)
    tier1 = 16
    transit = max(tier1 + 1, int(n * 0.07))
    out = sys.stdout
    out.write("# synthetic AS relationships (tools/gen_asrel.py %d %d), CAIDA serial-1\n" % (n, seed))
    links = set()
    # Preferential attachment: a list with one entry per customer (plus one).
    weight = []

    def add(a, b, rel):
        key = (min(a, b), max(a, b))
        if a == b or key in links:
            return False
        links.add(key)
        out.write("%d|%d|%d\n" % (numbers[a], numbers[b], rel))
        return True

    for i in range(tier1):
        weight.append(i)
        for j in range(i):
            add(j, i, 0)
    for i in range(tier1, n):
        k = 1 + (rng.random() < 0.4) + (rng.random() < 0.15)
        for _ in range(k):
            p = weight[rng.randrange(len(weight))]
            if add(p, i, -1):
                weight.append(p)
        if i < transit:
            weight.append(i)
    # Peering among transit ASes, preferential on size.
    want = int(len(links) * 2.5)
    tries = 0
    while want > 0 and tries < want * 4:
        tries += 1
        a = weight[rng.randrange(len(weight))]
        b = rng.randrange(tier1, transit) if rng.random() < 0.5 else weight[rng.randrange(len(weight))]
        if add(a, b, 0):
            want -= 1


if __name__ == "__main__":
    main()
