mod config_check;
