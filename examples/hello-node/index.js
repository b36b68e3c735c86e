// A FunctionGraph-style Node.js handler: (event, context) → result.
exports.handler = async (event, context) => {
  const logger = context.getLogger();
  logger.info(`hello from ${context.getFunctionName()} (${context.getVersion()})`);
  return {
    statusCode: 200,
    isBase64Encoded: false,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      greeting: `${process.env.GREETING || "Hello"}, ${event.name || "world"}!`,
    }),
  };
};
