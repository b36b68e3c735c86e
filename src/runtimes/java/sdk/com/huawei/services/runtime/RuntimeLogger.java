package com.huawei.services.runtime;

/** The function logger of contract §3.2: lines "<time> <requestId> <LEVEL> <message>" on stdout. */
public interface RuntimeLogger {
    /** Same as info. */
    void log(String message);

    void debug(String message);

    void info(String message);

    void warn(String message);

    void error(String message);

    /** DEBUG, INFO (default), WARN or ERROR. */
    void setLevel(String level);
}
