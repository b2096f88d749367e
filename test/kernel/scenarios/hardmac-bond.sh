#!/bin/sh
# A seed's script: the same hard-coded MAC on every host, set on the bond before enslaving.
ip link set dev bond0 address 02:de:ad:be:ef:01
