# A made-up network in GML (Topology Zoo style) around the Baltic: city
# coordinates are public facts, links and speeds invented for mailsim.
graph [
  directed 0
  Network "Nordic example"
  node [
    id 0
    label "Copenhagen"
    Latitude 55.676
    Longitude 12.568
    Internal 1
  ]
  node [
    id 1
    label "Stockholm"
    Latitude 59.329
    Longitude 18.069
    Internal 1
  ]
  node [
    id 2
    label "Oslo"
    Latitude 59.913
    Longitude 10.752
    Internal 1
  ]
  node [
    id 3
    label "Helsinki"
    Latitude 60.170
    Longitude 24.938
    Internal 1
  ]
  node [
    id 4
    label "Tallinn"
    Latitude 59.437
    Longitude 24.754
    Internal 1
  ]
  node [
    id 5
    label "Hamburg"
    Latitude 53.551
    Longitude 9.994
    Internal 0
  ]
  edge [
    source 0
    target 1
    LinkLabel "10G"
    LinkSpeed "10"
    LinkSpeedUnits "G"
    LinkSpeedRaw 10000000000.0
  ]
  edge [
    source 0
    target 2
    LinkSpeed "10"
    LinkSpeedUnits "G"
    LinkSpeedRaw 10000000000.0
  ]
  edge [
    source 1
    target 3
    LinkSpeed "2.5"
    LinkSpeedUnits "G"
    LinkSpeedRaw 2500000000.0
  ]
  edge [
    source 3
    target 4
    LinkSpeed "1"
    LinkSpeedUnits "G"
    LinkSpeedRaw 1000000000.0
  ]
  edge [
    source 1
    target 2
    LinkSpeed "10"
    LinkSpeedUnits "G"
    LinkSpeedRaw 10000000000.0
  ]
  edge [
    source 0
    target 5
    LinkSpeed "100"
    LinkSpeedUnits "G"
    LinkSpeedRaw 100000000000.0
  ]
]
