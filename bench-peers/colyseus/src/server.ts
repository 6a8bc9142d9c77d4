/**
 * The fan-out bench's Colyseus 0.16 server (a child process the bench pins to one core): one
 * room type whose state is the bench scene of `FANOUT_SCENE` (bench/src/fanout/scene.ts) as a
 * MapSchema of entities, simulated at 60 Hz and patched at 20 Hz, as a Colyseus game would be
 * written; rooms hold the scene's players and `joinOrCreate` opens the next when one is full. Prints `listening <port>` on stdout, then answers the probe.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Room, Server } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { schema } from '@colyseus/schema';
import { COLYSEUS_SIM_HZ, FRAME_HZ, currentScene, positionOf } from '../../../bench/src/fanout/scene.js';

const SCENE = currentScene();
import { serveProbe } from '../../../bench/src/fanout/probe.js';

// Built with schema(), not decorated classes: class fields would shadow the tracked accessors.
const Entity = schema({ x: 'number', y: 'number', radius: 'number' }, 'Entity');
const State = schema({ entities: { map: Entity } }, 'State');
type StateT = InstanceType<typeof State>;

let steps = 0;
let patches = 0;
let rooms = 0;

class FanoutRoom extends Room<StateT> {
  override maxClients = SCENE.maxPlayers;
  private next = 0;
  private readonly moves: number[] = [];

  override onCreate(): void {
    rooms++;
    const state = new State();
    for (let i = 0; i < SCENE.entities; i++) {
      const e = new Entity();
      const p = positionOf(i, 0);
      e.x = p.x;
      e.y = p.y;
      e.radius = 1;
      state.entities.set(String(i), e);
      this.moves.push(0);
    }
    this.setState(state);
    this.setPatchRate(1000 / FRAME_HZ);
    this.setSimulationInterval(() => this.step(), 1000 / COLYSEUS_SIM_HZ);
  }

  override onBeforePatch(): void {
    patches++;
  }

  private step(): void {
    steps++;
    for (let c = 0; c < SCENE.colyseusMovesPerStep; c++) {
      const i = this.next;
      this.next = (this.next + 1) % SCENE.entities;
      const p = positionOf(i, ++this.moves[i]);
      const e = this.state.entities.get(String(i))!;
      e.x = p.x;
      e.y = p.y;
    }
  }
}

const httpServer = createServer();
const gameServer = new Server({ transport: new WebSocketTransport({ server: httpServer }), greet: false });
gameServer.define('fanout', FanoutRoom);
await gameServer.listen(0, '127.0.0.1');
serveProbe(() => ({ steps, frames: patches, rooms }));
process.stdout.write(`listening ${(httpServer.address() as AddressInfo).port}\n`);
