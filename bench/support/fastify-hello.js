// The fastify counterpart of express-hello.js: the same route and answer.
const fastify = require('fastify')();

fastify.get('/hello/:name', async (req, reply) => {
  reply.type('text/html; charset=utf-8');
  return 'hello ' + req.params.name;
});
fastify.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).then(() => console.log('listening'));
