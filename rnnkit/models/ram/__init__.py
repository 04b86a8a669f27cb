"""Recurrent attention models: RAM (Mnih et al. 2014) and DRAM (Ba et al. 2015); see spec.py."""
