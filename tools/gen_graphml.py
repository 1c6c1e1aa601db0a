#!/usr/bin/env python3
"""Writes a synthetic operator network in the GraphML dialect the Internet
Topology Zoo publishes (node label, Latitude, Longitude, Internal; edge
LinkSpeed, LinkSpeedUnits, LinkLabel), for `make bench` (import time and
routing memory of a 1,000-node network). Nothing is downloaded: the graph
is drawn from a seeded generator.

Shape: nodes scattered over a box the size of Europe (latitude 36..70,
longitude -10..40), each joined to its nearest already-placed neighbours
(2 links, 3 for one node in five) so that the network is connected and
links are mostly short, as in real backbones; speeds drawn from 1, 10 and
100 Gbps. Some nodes have no coordinates (one in fifty) and some edges no
speed (one in forty), as in real Zoo files, so the importer's fallbacks
and warnings run too.

Usage: gen_graphml.py [NODES] [SEED] > file.graphml   (default 1000 1)
"""
import random
import sys
from xml.sax.saxutils import escape


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    pos = [(rng.uniform(36, 70), rng.uniform(-10, 40)) for _ in range(n)]
    edges = set()
    for i in range(1, n):
        k = 3 if rng.random() < 0.2 else 2
        near = sorted(range(i), key=lambda j: (pos[i][0] - pos[j][0]) ** 2 +
                      (pos[i][1] - pos[j][1]) ** 2)[:k]
        for j in near:
            edges.add((j, i))
    out = sys.stdout
    out.write('<?xml version="1.0" encoding="utf-8"?>\n')
    out.write('<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n')
    for kid, name, typ, for_ in (("d0", "label", "string", "node"),
                                 ("d1", "Latitude", "double", "node"),
                                 ("d2", "Longitude", "double", "node"),
                                 ("d3", "Internal", "int", "node"),
                                 ("d4", "LinkSpeed", "string", "edge"),
                                 ("d5", "LinkSpeedUnits", "string", "edge"),
                                 ("d6", "LinkLabel", "string", "edge")):
        out.write(f'  <key attr.name="{name}" attr.type="{typ}" for="{for_}" id="{kid}"/>\n')
    out.write('  <graph edgedefault="undirected">\n')
    for i, (lat, lon) in enumerate(pos):
        label = escape(f"PoP {i}")
        if rng.random() < 0.02:
            out.write(f'    <node id="{i}"><data key="d0">{label}</data>'
                      '<data key="d3">1</data></node>\n')
        else:
            out.write(f'    <node id="{i}"><data key="d0">{label}</data>'
                      f'<data key="d1">{lat:.4f}</data><data key="d2">{lon:.4f}</data>'
                      '<data key="d3">1</data></node>\n')
    for a, b in sorted(edges):
        if rng.random() < 0.025:
            out.write(f'    <edge source="{a}" target="{b}"/>\n')
            continue
        g = rng.choice((1, 10, 10, 100))
        out.write(f'    <edge source="{a}" target="{b}"><data key="d4">{g}</data>'
                  f'<data key="d5">G</data><data key="d6">{g} Gbps</data></edge>\n')
    out.write('  </graph>\n</graphml>\n')


if __name__ == "__main__":
    main()
