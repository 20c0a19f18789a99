"""Gateways: map the values of equipment that does not speak Forewarn's JSON onto a profile's fields.

OPC UA (asyncua) and Modbus (pymodbus) gateways publish one machine's readings like any sensor;
the Sparkplug B host maps an edge node's metrics onto the machines it serves. The mapping files
are validated (pydantic, with the file and line of every error) before anything connects.
"""
