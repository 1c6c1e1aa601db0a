# A made-up network in GML with the quirks the importer handles:
# a node without coordinates, an edge without a speed, a parallel edge,
# a self-loop and a part cut off from the rest.
graph [
  directed 0
  Network "Quirky"
  node [
    id 0
    label "Oslo"
    Latitude 59.913
    Longitude 10.752
    Internal 1
    graphics [ x 1.0 y 2.0 ]
  ]
  node [
    id 1
    label "Bergen"
    Latitude 60.391
    Longitude 5.322
    Internal 1
    graphics [ x 1.0 y 2.0 ]
  ]
  node [
    id 2
    label "Trondheim"
    Latitude 63.43
    Longitude 10.395
    Internal 1
    graphics [ x 1.0 y 2.0 ]
  ]
  node [
    id 3
    label "Nowhere"
    Internal 1
    graphics [ x 1.0 y 2.0 ]
  ]
  node [
    id 4
    label "Tromso"
    Latitude 69.649
    Longitude 18.955
    Internal 1
    graphics [ x 1.0 y 2.0 ]
  ]
  node [
    id 5
    label "Island"
    Internal 1
    graphics [ x 1.0 y 2.0 ]
  ]
  edge [
    source 0
    target 1
    LinkSpeedRaw 10000000000.0
  ]
  edge [
    source 0
    target 2
    LinkSpeed "1"
    LinkSpeedUnits "G"
  ]
  edge [
    source 2
    target 4
  ]
  edge [
    source 0
    target 3
    LinkSpeedRaw 1000000000
  ]
  edge [
    source 0
    target 1
    LinkSpeedRaw 1000000.0
  ]
  edge [
    source 2
    target 2
  ]
]
