package com.huawei.services.runtime;

/** The invocation context of contract §3.2 (FunctionGraph Java runtime). */
public interface Context {
    String getRequestID();

    long getRemainingTimeInMilliSeconds();

    /** The configured timeout, seconds. */
    int getRunningTimeInSeconds();

    /** Deprecated by FunctionGraph; may be empty. */
    String getAccessKey();

    /** Deprecated by FunctionGraph; may be empty. */
    String getSecretKey();

    String getSecurityAccessKey();

    String getSecuritySecretKey();

    String getSecurityToken();

    String getToken();

    /** An environment variable of the function, or null. */
    String getUserData(String key);

    String getFunctionName();

    String getVersion();

    /** MB. */
    int getMemorySize();

    /** Millicores. */
    int getCPUNumber();

    String getProjectID();

    String getPackage();

    String getAlias();

    String getInvokeType();

    RuntimeLogger getLogger();

    String getWorkflowID();

    String getWorkflowRunID();

    String getWorkflowStateID();
}
