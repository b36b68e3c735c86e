import json
import os


def handler(event, context):
    context.getLogger().info("hello from " + context.getFunctionName())
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {
        "statusCode": 200,
        "isBase64Encoded": False,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"greeting": "%s, %s!" % (os.environ.get("GREETING", "Hello"), name)}),
    }
