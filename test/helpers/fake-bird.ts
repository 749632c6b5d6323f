/** TEST DOUBLE of BIRD's control socket: greets like BIRD and answers `show protocols` with a recorded reply. */
import {createServer, type Server} from 'node:net'

export async function startFakeBird(path: string, reply: string, greeting = '0001 BIRD 2.0.12 ready.\n'): Promise<Server> {
  const server = createServer((socket) => {
    socket.write(greeting)
    socket.on('data', (data) => {
      if (data.toString() === 'show protocols\n') socket.write(reply)
      else socket.write('9001 syntax error\n')
    })
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  return server
}
