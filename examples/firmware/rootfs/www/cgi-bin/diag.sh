#!/bin/sh
# diagnostic ping from the web UI
echo "Content-Type: text/plain"
echo
ping -c 3 $QUERY_STRING
